/**
 * The package's type declarations, one rolled-up `.d.ts` per entry (`index`, `react`, `vue`,
 * `testing`), and the API report of each entry under docs/api/ — both made by API Extractor from
 * the declarations `tsc` emits for src/ (tsconfig.build.json).
 *
 * The adapters and the testing entry import the core as the package does at run time: their
 * declarations name `'spa-auth'` while API Extractor reads them (so the core is an import in their
 * report, not a copy), and `'./index.js'` in dist/, the sibling file their JavaScript imports too.
 * Items tagged `@internal` are left out of both the reports and the declarations.
 */
import {
  CompilerState,
  Extractor,
  ExtractorConfig,
  ExtractorLogLevel,
  ExtractorMessageCategory,
  type IConfigFile,
} from '@microsoft/api-extractor'
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const REPO = fileURLToPath(new URL('../', import.meta.url))
/** Where the committed API reports live. */
export const REPORT_FOLDER = join(REPO, 'docs', 'api')
/** The package's entries: `.` is `index`. */
export const ENTRIES = ['index', 'react', 'vue', 'testing'] as const
export type Entry = (typeof ENTRIES)[number]
const CORE = 'spa-auth'

/** What the API report of one entry says now, compared with the committed one. */
export interface EntryReport {
  entry: Entry
  /** The committed report's path. */
  reportPath: string
  /** The report made from the sources now. */
  report: string
  /** The committed report, `undefined` when there is none. */
  committed: string | undefined
  /** API Extractor's findings: a forgotten export, an unresolved link, a release tag at odds. */
  messages: string[]
}

/** Options of {@link buildDeclarations}. */
export interface DeclarationOptions {
  /** Where the rolled-up `<entry>.d.ts` files go (dist/ for the package); none are written without it. */
  outDir?: string
  /** Write the reports made now over the committed ones (`npm run api:update`). Default `false`. */
  updateReports?: boolean
}

/**
 * Emits the declarations of src/, rolls each entry's up, and makes its API report.
 *
 * @throws Error when `tsc` reports an error in src/.
 */
export async function buildDeclarations(options: DeclarationOptions = {}): Promise<EntryReport[]> {
  const staging = await mkdtemp(join(tmpdir(), 'spa-auth-declarations-'))
  try {
    const sources = join(staging, 'src')
    await mkdir(join(staging, 'accepted'))
    emitDeclarations(sources)
    await stageCoreAsPackage(sources, staging)
    const reports: EntryReport[] = []
    const configs = ENTRIES.map((entry) => extractorConfig(entry, sources, staging, options.outDir))
    const compilerState = CompilerState.create(configs[0]!, {
      additionalEntryPoints: configs.map((config) => config.mainEntryPointFilePath),
    })
    for (const [index, entry] of ENTRIES.entries()) {
      reports.push(await extract(entry, configs[index]!, compilerState, staging))
      if (options.outDir) await pointAtSiblingCore(join(options.outDir, `${entry}.d.ts`))
    }
    if (options.updateReports) {
      await mkdir(REPORT_FOLDER, { recursive: true })
      for (const { reportPath, report } of reports) await writeFile(reportPath, report)
    }
    return reports
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}

/**
 * `tsc -p tsconfig.build.json`, declarations only, into `outDir`. Only what declaration emit needs
 * is checked (`npm test` type-checks everything with `tsc --noEmit`); an error there still fails.
 */
function emitDeclarations(outDir: string): void {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(REPO, 'tsconfig.build.json'),
    { outDir, noEmit: false, emitDeclarationOnly: true, declarationMap: false },
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (diagnostic) => fail([diagnostic]) },
  )!
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options })
  const { diagnostics, emitSkipped } = program.emit(undefined, undefined, undefined, true)
  const errors = diagnostics.filter((diagnostic) => diagnostic.category === ts.DiagnosticCategory.Error)
  if (errors.length > 0 || emitSkipped) fail(errors)
}

function fail(diagnostics: readonly ts.Diagnostic[]): never {
  throw new Error(
    ts.formatDiagnostics(diagnostics, {
      getCanonicalFileName: (name) => name,
      getCurrentDirectory: () => REPO,
      getNewLine: () => '\n',
    }),
  )
}

/**
 * Makes `'spa-auth'` an installed package holding the core's declarations, and points the
 * adapters and the testing entry at it, so API Extractor keeps the core out of their rollups.
 */
async function stageCoreAsPackage(sources: string, staging: string): Promise<void> {
  const installed = join(staging, 'node_modules', CORE)
  await cp(sources, installed, { recursive: true })
  await writeFile(join(installed, 'package.json'), JSON.stringify({ name: CORE, types: './index.d.ts' }))
  const dependents = [
    ...ENTRIES.filter((entry) => entry !== 'index').map((entry) => `${entry}.d.ts`),
    ...(await readdir(join(sources, 'testing'))).map((file) => `testing/${file}`),
  ]
  for (const file of dependents) {
    const path = join(sources, file)
    const text = await readFile(path, 'utf8')
    await writeFile(path, text.replace(/(['"])(?:\.\.?\/)+index\.js\1/g, `$1${CORE}$1`))
  }
}

/** `from 'spa-auth'` → `from './index.js'` in a rollup: the sibling file the entry's JavaScript imports. */
async function pointAtSiblingCore(path: string): Promise<void> {
  const text = await readFile(path, 'utf8')
  await writeFile(path, text.replaceAll(`from '${CORE}'`, "from './index.js'"))
}

function extractorConfig(entry: Entry, sources: string, staging: string, outDir: string | undefined): ExtractorConfig {
  const configObject: IConfigFile = {
    projectFolder: REPO,
    mainEntryPointFilePath: join(sources, `${entry}.d.ts`),
    compiler: {
      overrideTsconfig: {
        compilerOptions: {
          target: 'es2022',
          module: 'esnext',
          moduleResolution: 'bundler',
          lib: ['es2022', 'dom', 'dom.iterable'],
          strict: true,
          skipLibCheck: true,
          types: [],
          // react and vue from this repository's node_modules; 'spa-auth' from the staged package.
          paths: { '*': [join(REPO, 'node_modules', '*'), join(REPO, 'node_modules', '@types', '*')] },
        },
        files: ENTRIES.map((name) => join(sources, `${name}.d.ts`)),
      },
    },
    apiReport: {
      enabled: true,
      reportFileName: entry,
      reportVariants: ['public'],
      // API Extractor's own comparison would write over the committed report: compare here instead.
      reportFolder: join(staging, 'accepted'),
      reportTempFolder: join(staging, 'reports'),
      includeForgottenExports: false,
    },
    docModel: { enabled: false },
    dtsRollup: {
      enabled: outDir !== undefined,
      untrimmedFilePath: '',
      publicTrimmedFilePath: outDir === undefined ? '' : join(outDir, `${entry}.d.ts`),
    },
    tsdocMetadata: { enabled: false },
    newlineKind: 'lf',
    messages: {
      // Findings go into the report, where a review sees them next to what they are about.
      compilerMessageReporting: { default: { logLevel: ExtractorLogLevel.Warning, addToApiReportFile: true } },
      extractorMessageReporting: {
        default: { logLevel: ExtractorLogLevel.Warning, addToApiReportFile: true },
        // Every export is public unless tagged otherwise: no tag needed, and no underscore for `@internal`.
        'ae-missing-release-tag': { logLevel: ExtractorLogLevel.None },
        'ae-internal-missing-underscore': { logLevel: ExtractorLogLevel.None },
        // The report marks what has no doc comment with "(undocumented)".
        'ae-undocumented': { logLevel: ExtractorLogLevel.None },
      },
      tsdocMessageReporting: { default: { logLevel: ExtractorLogLevel.Warning, addToApiReportFile: true } },
    },
  }
  return ExtractorConfig.prepare({
    configObject,
    configObjectFullPath: undefined,
    packageJsonFullPath: join(REPO, 'package.json'),
  })
}

async function extract(
  entry: Entry,
  config: ExtractorConfig,
  compilerState: CompilerState,
  staging: string,
): Promise<EntryReport> {
  const messages: string[] = []
  Extractor.invoke(config, {
    compilerState,
    localBuild: true,
    messageCallback(message) {
      message.handled = true
      // The report files' own bookkeeping (created, changed) is ours to tell: see EntryReport.
      if (message.category === ExtractorMessageCategory.Console) return
      if (message.logLevel === ExtractorLogLevel.Error || message.logLevel === ExtractorLogLevel.Warning) {
        const where = message.sourceFilePath ? ` (${relative(staging, message.sourceFilePath)})` : ''
        messages.push(`${message.messageId}: ${message.text}${where}`)
      }
    },
  })
  const reportPath = join(REPORT_FOLDER, `${entry}.public.api.md`)
  return {
    entry,
    reportPath,
    report: await readFile(join(staging, 'reports', `${entry}.public.api.md`), 'utf8'),
    committed: await readFile(reportPath, 'utf8').catch(() => undefined),
    messages,
  }
}
