/**
 * The contract's shapes for reproduction bundles (issue 5): exporting one,
 * its progress events, and comparing a reproduction with its original
 * (the verdict itself is src/shared/verify.ts).
 */
import { z } from 'zod';

const Path = z.string().min(1).max(4096);

export const BundleExportParams = z
  .object({
    expDir: Path,
    /** The bundle file (absolute; .zip, .tar.gz or .tgz). Default: ~/Downloads/<experiment>-bundle.zip. */
    out: Path.optional(),
    withCheckpoint: z.boolean().optional(),
    withLogs: z.boolean().optional(),
    /** Where the recorded commit is now, when the repository moved. */
    repository: Path.optional(),
    /** Source files larger than this are left out and listed (0: no limit; default 100 MiB). */
    sourceFileLimitBytes: z.number().int().nonnegative().optional(),
  })
  .strict();

export const BundleExportResult = z.object({
  path: z.string(),
  format: z.enum(['zip', 'tar.gz']),
  /** The one folder the archive unpacks to. */
  folder: z.string(),
  sourceIncluded: z.boolean(),
  /** Why the source tree is not in the bundle (commit gone, repository moved …), else null. */
  sourceMissing: z.string().nullable(),
  /** Source files left out (over the size limit, export-ignore), with why: reproduce.sh asks for them. */
  omitted: z.array(z.object({ path: z.string(), bytes: z.number(), reason: z.string() })),
  /** What the receiver should know (also in the bundle's README.md). */
  warnings: z.array(z.string()),
  files: z.number(),
  bytes: z.number(),
  /**
   * Browser mode: where the page downloads the bundle (`download/<id>`, relative to the page), served
   * with the page's token by the server that exported it, for that server's life. Absent elsewhere.
   */
  download: z.string().optional(),
});

export const BundleProgressEvent = z.object({
  expDir: z.string(),
  /** scan → source (bytes extracted) → pack (bytes packed) → finish → done. */
  phase: z.enum(['scan', 'source', 'pack', 'finish', 'done']),
  done: z.number(),
  total: z.number(),
});

export const VerifyParams = z
  .object({
    original: Path,
    reproduced: Path,
    /** Default rtol 1e-5, atol 1e-8 (numpy.isclose's). */
    tolerance: z
      .object({ rtol: z.number().nonnegative().optional(), atol: z.number().nonnegative().optional() })
      .strict()
      .optional(),
    /** Record keys not compared, besides timestamp. */
    ignore: z.array(z.string().max(512)).max(100).optional(),
  })
  .strict();
