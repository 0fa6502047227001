/** The part of madge's API (a devDependency without bundled types) the import-circle test uses. */
declare module 'madge' {
  interface MadgeConfig {
    fileExtensions?: string[];
    tsConfig?: string;
    detectiveOptions?: Record<string, unknown>;
  }
  interface MadgeResult {
    /** Each file (relative to the base) and the files it imports. */
    obj(): Record<string, string[]>;
    /** Each import circle, as the files along it. */
    circular(): string[][];
  }
  function madge(path: string | string[], config?: MadgeConfig): Promise<MadgeResult>;
  export default madge;
}
