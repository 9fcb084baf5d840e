import { createRequire } from 'node:module';

/**
 * Shared file mappings for the write-ahead log (issue 21), through the optional native addon
 * `@riaskov/mmap-io`. A store into a `MAP_SHARED` mapping of a file is in the page cache the
 * moment it is made, exactly like a `write`, so it survives the process being killed; but it
 * costs no system call (a `write` costs 10-40 µs on a virtual machine whose thread slept).
 * Node cannot map a file by itself: without the addon (no compiler where `npm install` ran,
 * or install scripts refused) the log falls back to `write`, with the same guarantees.
 */
interface MmapIo {
  map(size: number, protection: number, flags: number, fd: number, offset?: number): Buffer;
  readonly PROT_READ: number;
  readonly PROT_WRITE: number;
  readonly MAP_SHARED: number;
}

let addon: MmapIo | null | undefined;

/** The addon, loaded on first use; null when it is not installed or does not load here. */
function load(): MmapIo | null {
  if (addon !== undefined) return addon;
  try {
    const mod = createRequire(import.meta.url)('@riaskov/mmap-io') as MmapIo & { default?: MmapIo };
    addon = typeof mod.map === 'function' ? mod : (mod.default ?? null);
  } catch {
    addon = null;
  }
  return addon;
}

/** True when files can be mapped here (the addon is installed and loads). */
export function canMapFiles(): boolean {
  return load() !== null;
}

/**
 * `size` bytes of the open file `fd`, mapped shared and writable (unmapped when the buffer is
 * garbage collected). The file must already hold `size` bytes written for real: a store into
 * a hole the filesystem cannot back (a full disk) kills the process with SIGBUS.
 */
export function mapShared(fd: number, size: number): Buffer {
  const mmap = load();
  if (!mmap) throw new Error('file mapping is not available (the optional @riaskov/mmap-io addon is not installed)');
  return mmap.map(size, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0);
}
