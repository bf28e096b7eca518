/**
 * Single-file components for the fresh Vue app, compiled with Vue's own compiler
 * (`vue/compiler-sfc`, shipped with vue) — a stand-in for @vitejs/plugin-vue, which this
 * repository does not install. It handles what the README's example uses: `<script setup>`
 * (TypeScript too) with its template inlined; no styles, no hot reload.
 */
import { createHash } from 'node:crypto'
import { transformWithOxc, type Plugin } from 'vite'
import { compileScript, parse } from 'vue/compiler-sfc'

export function vueSingleFileComponents(): Plugin {
  return {
    name: 'spa-auth-test:vue-sfc',
    config: () => ({
      // The compile-time flags @vitejs/plugin-vue sets for Vue's esm-bundler build.
      define: {
        __VUE_OPTIONS_API__: 'true',
        __VUE_PROD_DEVTOOLS__: 'false',
        __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
      },
    }),
    async transform(source, id) {
      if (!id.endsWith('.vue')) return null
      const { descriptor, errors } = parse(source, { filename: id })
      if (errors.length > 0) throw errors[0]
      if (descriptor.styles.length > 0) throw new Error(`${id}: <style> is not supported by this test compiler`)
      const script = compileScript(descriptor, {
        id: createHash('sha256').update(id).digest('hex').slice(0, 8),
        inlineTemplate: true,
      })
      if (script.lang !== 'ts') return { code: script.content, map: null }
      const { code, map } = await transformWithOxc(script.content, `${id}.ts`, { lang: 'ts' })
      return map ? { code, map } : { code }
    },
  }
}
