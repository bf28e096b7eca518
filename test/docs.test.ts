// @vitest-environment node
/**
 * The README and the guides in docs/ as a reader meets them. Every code block in them is taken from
 * a file a test runs: a block is found, line for line (indentation aside), in an example app's
 * sources or in a test file — the guides' own snippets run in test/examples/guides.example.test.ts —
 * and a block that names a test file on its first line is that whole file; a block that names an
 * app's file (`// src/main.ts`) and is no file of this repository is one that
 * test/browser/package.test.ts builds a fresh app from; shell commands are this repository's npm
 * scripts. Every link to the repository leads to a file, every anchor to a heading, nothing points
 * at an issue, and the README stays within 300 lines. The generated pages (docs/api/,
 * docs/performance.md) are left out.
 */
import { execFileSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { MARKDOWN_APP_FILES } from './browser/frameworks/fresh-project.js'

const REPO = fileURLToPath(new URL('..', import.meta.url))
const GENERATED = ['docs/performance.md']

interface Block {
  markdown: string
  /** The `## ` section it is in ('' before the first). */
  section: string
  line: number
  lang: string
  body: string
}

const posix = (path: string) => path.split(sep).join('/')

/** The files of the repository, committed or not (what `.gitignore` leaves out is not), relative to it. */
function repositoryFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: REPO })
  return listed.toString('utf8').split('\n').filter(Boolean)
}

/** The README and the guides, generated pages left out. */
function markdownFiles(files: string[]): string[] {
  const guides = files.filter((path) => /^docs\/[^/]+\.md$/.test(path) && !GENERATED.includes(path))
  return ['README.md', ...guides.sort()]
}

/** The fenced code blocks of a markdown text. */
function codeBlocks(markdown: string, text: string): Block[] {
  const blocks: Block[] = []
  const lines = text.split('\n')
  let section = ''
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!
    if (line.startsWith('## ')) section = line.slice(3)
    const fence = /^```(\w*)\s*$/.exec(line)
    if (!fence) continue
    const end = lines.indexOf('```', index + 1)
    if (end === -1) throw new Error(`${markdown}:${index + 1}: a code block that never closes`)
    blocks.push({ markdown, section, line: index + 1, lang: fence[1]!, body: lines.slice(index + 1, end).join('\n') })
    index = end
  }
  return blocks
}

/** `lines` without the indentation they all share; blank lines as empty ones. */
function dedent(lines: string[]): string {
  const indents = lines.filter((line) => line.trim() !== '').map((line) => /^ */.exec(line)![0].length)
  const common = Math.min(...indents)
  return lines.map((line) => (line.trim() === '' ? '' : line.slice(common))).join('\n')
}

/** Whether `block` is, line for line and indentation aside, a run of lines of `source`. */
function holds(source: string, block: string): boolean {
  const wanted = block.split('\n')
  const text = dedent(wanted)
  const lines = source.split('\n')
  for (let start = 0; start + wanted.length <= lines.length; start++) {
    if (lines[start]!.trim() !== wanted[0]!.trim()) continue
    if (dedent(lines.slice(start, start + wanted.length)) === text) return true
  }
  return false
}

/** The file a block names on its first line (`// src/main.ts`, `<!-- src/App.vue -->`), if it does. */
function namedFile(body: string): string | undefined {
  return /^(?:\/\/|<!--)\s*(\S+\.\w+)\s*(?:-->)?$/.exec(body.split('\n')[0]!)?.[1]
}

/** Why a shell block's commands are not this repository's, or `undefined` when they all are. */
function unknownCommands(body: string, scripts: Record<string, string>): string | undefined {
  for (const line of body.split('\n')) {
    const command = line.replace(/(^|\s)#.*$/, '').trim()
    if (command === '') continue
    for (const part of command.split('&&')) {
      const words = part.trim().split(/\s+/)
      while (/^[A-Z_]+=\S*$/.test(words[0] ?? '')) words.shift()
      const [npm, verb, script, ...rest] = words
      const known =
        npm === 'npm' &&
        rest.length === 0 &&
        (verb === 'run' ? script !== undefined && script in scripts : ['install', 'ci', 'test'].includes(verb ?? ''))
      if (!known) return `"${part.trim()}" is not npm install, npm ci, npm test or npm run <a script of package.json>`
    }
  }
  return undefined
}

/** GitHub's anchor of a heading. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')
}

/** The text outside code blocks and inline code, where links and prose are. */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '')
}

describe('the README and the guides', () => {
  let files: Set<string>
  let documents: Map<string, string>
  let sources: Map<string, string>
  let scripts: Record<string, string>

  beforeAll(async () => {
    const read = async (paths: string[]) =>
      new Map(await Promise.all(paths.map(async (path) => [path, await readFile(join(REPO, path), 'utf8')] as const)))
    files = new Set(repositoryFiles())
    documents = await read(markdownFiles([...files]))
    // The example apps' sources, and the test files: what the tests run.
    sources = await read([...files].filter((path) => /^examples\/[^/]+\/src\/|^test\/.*\.test\.tsx?$/.test(path)))
    scripts = (JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
      .scripts
  })

  it('take every code block from a file a test runs', () => {
    const untested: string[] = []
    const where = (block: Block) => `${block.markdown}:${block.line}`
    for (const [markdown, text] of documents) {
      for (const block of codeBlocks(markdown, text)) {
        if (block.lang === 'sh') {
          const unknown = unknownCommands(block.body, scripts)
          if (unknown) untested.push(`${where(block)}: ${unknown}`)
          continue
        }
        const name = namedFile(block.body)
        const whole = name && [...sources].find(([, source]) => source.split('\n')[0] === block.body.split('\n')[0])
        if (whole) {
          if (`${block.body}\n` !== whole[1]) untested.push(`${where(block)}: differs from ${whole[0]}, which it names`)
          continue
        }
        if (name) {
          const built = MARKDOWN_APP_FILES.some(
            (entry) => entry.markdown === markdown && entry.section === block.section && entry.name === name,
          )
          if (!built) untested.push(`${where(block)}: ${name} is no fresh app's file (MARKDOWN_APP_FILES)`)
          continue
        }
        if (![...sources.values()].some((source) => holds(source, block.body))) {
          untested.push(`${where(block)}: found in no example app and no test file`)
        }
      }
    }
    expect(untested).toEqual([])
  })

  it('hold every block the fresh apps are built from', () => {
    for (const { markdown, section, name } of MARKDOWN_APP_FILES) {
      const blocks = codeBlocks(markdown, documents.get(markdown) ?? '').filter((block) => block.section === section)
      expect(
        blocks.map((block) => namedFile(block.body)),
        `${markdown}, section ${section}`,
      ).toContain(name)
    }
  })

  it('link only to files of the repository and to headings that exist', () => {
    const broken: string[] = []
    for (const [markdown, text] of documents) {
      for (const [, target] of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(https?|mailto):/.test(target!)) continue
        const [path, anchor] = target!.split('#') as [string, string | undefined]
        const file = path === '' ? markdown : posix(relative(REPO, resolve(REPO, dirname(markdown), path)))
        const inRepository = files.has(file) || [...files].some((listed) => listed.startsWith(`${file}/`))
        if (file.startsWith('..') || !inRepository) {
          broken.push(`${markdown}: ${target} (no ${file} in the repository)`)
          continue
        }
        if (anchor === undefined || !file.endsWith('.md')) continue
        const headings = (documents.get(file) ?? '').split('\n').filter((line) => /^#{1,6} /.test(line))
        if (!headings.some((heading) => slug(heading.replace(/^#+ /, '')) === anchor)) {
          broken.push(`${markdown}: ${target} (no such heading in ${file})`)
        }
      }
    }
    expect(broken).toEqual([])
  })

  it('name no issue and no internal document', () => {
    for (const [markdown, text] of documents) {
      expect(prose(text), markdown).not.toMatch(/(^|[\s(])#\d+\b/)
      expect(text, markdown).not.toMatch(/\b(DESIGN|PROVIDERS|STYLE|REVIEW)\.md\b/)
      expect(prose(text), markdown).not.toMatch(/\bissues? \d+/i)
    }
  })

  it('keep the README within 300 lines', () => {
    expect(documents.get('README.md')!.trimEnd().split('\n').length).toBeLessThanOrEqual(300)
  })
})
