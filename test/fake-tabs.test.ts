// @vitest-environment node
import { describe, expect, it } from 'vitest'
import { createFakeTabs } from './support/fake-tabs.js'

describe('the fake browser', () => {
  it('counts the lock requests that wait behind a holder until each is granted', async () => {
    const browser = createFakeTabs()
    let release!: () => void
    const holding = browser.locks.request('session', () => new Promise<void>((resolve) => (release = resolve)))
    const granted: string[] = []
    const first = browser.locks.request('session', async () => void granted.push('first'))
    const second = browser.locks.request('session', async () => void granted.push('second'))
    const elsewhere = browser.locks.request('other', async () => void granted.push('elsewhere'))
    await elsewhere
    expect(browser.waiting()).toBe(2)

    release()
    await Promise.all([holding, first, second])
    expect(browser.waiting()).toBe(0)
    expect(granted).toEqual(['elsewhere', 'first', 'second'])
  })
})
