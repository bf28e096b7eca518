/**
 * What each source module costs in an emitted file, read from the build's source maps: every
 * byte of the file goes to the module its mapping segment points at. A segment that points into a
 * package file shipping a source map of its own (spa-auth's dist/, oauth4webapi's build/, the
 * peers' dist/) is followed through that map too, so the costs name `src/…` modules, not the
 * package's built chunks. Bytes no segment covers (the bundler's runtime, glue between modules)
 * are `(unmapped)`. The costs of a file add up to its size exactly.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { decode, type SourceMapMappings } from '@jridgewell/sourcemap-codec'

/** Bytes one source module leaves in an emitted file. */
export interface ModuleCost {
  /**
   * `src/…` for spa-auth's own modules, `node_modules/<package>/…` for a dependency's (its own
   * sources when it ships a source map), `app/…` for the bench app's code, `(unmapped)`.
   */
  path: string
  bytes: number
}

/** The module the bytes no mapping segment covers are given to. */
export const UNMAPPED = '(unmapped)'

interface RawSourceMap {
  sources: (string | null)[]
  sourceRoot?: string
  mappings: string
}

/** A decoded source map and the absolute path of each of its sources. */
interface LoadedMap {
  sources: string[]
  lines: SourceMapMappings
}

/** Names modules the way the report does. */
export interface ModuleNaming {
  /** The app project: `<root>/node_modules/…` are packages, everything else under it is the app. */
  root: string
  /** The package whose modules are named without a prefix (this repository's package)… */
  ownPackage: string
  /** …and where its sources are (a package built outside the repository names them there). */
  ownSources: string
}

/**
 * Where a source of a map is. The spec resolves it against the map's folder; Vite writes a
 * worker's map relative to the output folder instead, so each folder up is tried until the file
 * is there (a bundler's virtual module exists nowhere: the map's folder is kept for it).
 */
function locate(mapDir: string, source: string): string {
  const first = resolve(mapDir, source)
  for (let dir = mapDir, up = 0; up < 4; dir = dirname(dir), up++) {
    const candidate = resolve(dir, source)
    if (existsSync(candidate)) return candidate
  }
  return first
}

async function loadMap(mapFile: string): Promise<LoadedMap | undefined> {
  let raw: RawSourceMap
  try {
    raw = JSON.parse(await readFile(mapFile, 'utf8')) as RawSourceMap
  } catch {
    return undefined
  }
  const base = resolve(dirname(mapFile), raw.sourceRoot ?? '')
  return {
    sources: raw.sources.map((source) => (source === null ? UNMAPPED : locate(base, source))),
    lines: decode(raw.mappings),
  }
}

/** The source map a package file names in its last `//# sourceMappingURL=` comment, if any. */
async function shippedMap(file: string): Promise<LoadedMap | undefined> {
  const code = await readFile(file, 'utf8').catch(() => undefined)
  const url = code && /\/\/# sourceMappingURL=([^\s'"]+)\s*$/.exec(code)?.[1]
  if (!url || url.startsWith('data:')) return undefined
  return loadMap(join(dirname(file), url))
}

/** The segment covering `column` on `line` of a decoded map: the last one starting at or before it. */
function segmentAt(map: LoadedMap, line: number, column: number): number[] | undefined {
  const segments = map.lines[line]
  if (!segments || segments.length === 0) return undefined
  let low = 0
  let high = segments.length - 1
  let found = -1
  while (low <= high) {
    const middle = (low + high) >> 1
    if (segments[middle]![0]! <= column) {
      found = middle
      low = middle + 1
    } else high = middle - 1
  }
  return found === -1 ? undefined : segments[found]
}

/** Follows package source maps from emitted positions to source modules; caches every map it reads. */
export class SourceMapCosts {
  readonly #shipped = new Map<string, Promise<LoadedMap | undefined>>()
  readonly #naming: ModuleNaming

  constructor(naming: ModuleNaming) {
    this.#naming = naming
  }

  /**
   * The modules of an emitted file, largest first, from its source map `mapFile` (absent: the whole
   * file is `(unmapped)`). Their bytes add up to the size of `code`.
   */
  async costs(code: string, mapFile: string | undefined): Promise<ModuleCost[]> {
    const map = mapFile === undefined ? undefined : await loadMap(mapFile)
    const origins = map === undefined ? [] : await this.#origins(map)
    const sums = new Map<string, number>()
    const add = (path: string, text: string) => {
      if (text.length > 0) sums.set(path, (sums.get(path) ?? 0) + Buffer.byteLength(text))
    }
    const lines = code.split('\n')
    for (const [index, line] of lines.entries()) {
      if (index < lines.length - 1) add(UNMAPPED, '\n')
      const segments = map?.lines[index] ?? []
      add(UNMAPPED, line.slice(0, segments[0]?.[0] ?? line.length))
      for (const [at, segment] of segments.entries()) {
        const end = segments[at + 1]?.[0] ?? line.length
        add(segment.length >= 4 ? origins[segment[1]!]!(segment) : UNMAPPED, line.slice(segment[0], end))
      }
    }
    return [...sums]
      .map(([path, bytes]) => ({ path, bytes }))
      .sort((a, b) => b.bytes - a.bytes || a.path.localeCompare(b.path))
  }

  /**
   * For each source of `map`, how to name the module a segment pointing into it comes from: the
   * source itself, or, for a package file shipping a map of its own, the source that map names
   * at the segment's original position.
   */
  async #origins(map: LoadedMap): Promise<((segment: number[]) => string)[]> {
    return Promise.all(
      map.sources.map(async (source) => {
        const own = this.name(source)
        if (source === UNMAPPED || !source.includes(`${sep}node_modules${sep}`)) return () => own
        let shipped = this.#shipped.get(source)
        if (shipped === undefined) this.#shipped.set(source, (shipped = shippedMap(source)))
        const inner = await shipped
        if (inner === undefined) return () => own
        const names = inner.sources.map((path) => this.name(path))
        return (segment: number[]) => {
          const followed = segmentAt(inner, segment[2]!, segment[3]!)
          return followed === undefined || followed.length < 4 ? own : names[followed[1]!]!
        }
      }),
    )
  }

  /** `src/…`, `node_modules/<package>/…` or `app/…` for an absolute source path. */
  name(source: string): string {
    if (source === UNMAPPED) return UNMAPPED
    const inside = (root: string) => {
      const path = relative(root, source).split(sep).join('/')
      return path.startsWith('../') || path.startsWith('/') ? undefined : path
    }
    const inApp = inside(this.#naming.root)
    const ownPrefix = `node_modules/${this.#naming.ownPackage}/`
    if (inApp?.startsWith(ownPrefix)) return inApp.slice(ownPrefix.length)
    if (inApp?.startsWith('node_modules/')) return inApp
    if (inApp !== undefined) return `app/${inApp}`
    return inside(this.#naming.ownSources) ?? `(elsewhere) ${source}`
  }
}
