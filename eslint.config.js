// Type-aware lint for what the compiler does not catch: promises nobody awaits or handles, and
// promises passed where a plain callback is expected (an event handler that rejects goes unseen).
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'bench-results/', 'node_modules/'] },
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
)
