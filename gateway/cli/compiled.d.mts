// Types of compiled.mjs (plain JavaScript, so the command can decide before tsx loads).
export declare const REPO_ROOT: string;
export declare const DIST: string;
export declare const SOURCE_DIRS: readonly string[];
export declare const STAMP: string;
export declare function sourceFiles(root?: string): string[];
export declare function sourceFingerprint(root?: string, files?: readonly string[]): string;
export declare function builtFrom(dist?: string): string | undefined;
export declare function compiledFile(rel: string, env?: NodeJS.ProcessEnv, root?: string): string | undefined;
