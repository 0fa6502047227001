/** The shapes RemoteMetricsMirror (remote-metrics.ts) takes and gives. */

export interface MirrorTarget {
  /** The experiment's `ssh://…` text: the mirror's key. */
  location: string;
  /** The path on the remote: an experiment folder, or with `allowFile` a metrics file itself. */
  remotePath: string;
  allowFile?: boolean;
}

export interface MirrorResult {
  /** The local folder holding logs/metrics.jsonl. */
  dir: string;
  /** The mirror started over (the remote file was replaced or shrank): cached reads of it are stale. */
  reset: boolean;
  /** Bytes brought over by this sync. */
  bytes: number;
}

/** Metrics bytes of a remote file from `start`, as an answer (gather's or tail's) carries them. */
export interface RemoteBytes {
  start: number;
  /** The remote file does not continue the mirror (replaced, shrunk): `data` starts at byte 0. */
  reset: boolean;
  data: Buffer;
  /** The remote file's inode. */
  ino: number | null;
}

/** What accept() did with an answer. */
export interface Accepted {
  /** The mirror started over. */
  reset: boolean;
  /** Bytes added to the mirror. */
  bytes: number;
  /** The answer did not continue the mirror: it was emptied, ask again from its (new) length. */
  again: boolean;
  /** The bytes added, and the mirror's offset where they start (a feed at that offset can take them from memory). */
  added: { data: Buffer; at: number };
}
