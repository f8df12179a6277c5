import * as fs from 'node:fs';

/**
 * Makes `src`'s bytes visible as `dst` without copying them: a hard link. ONNX Runtime (≥ 1.30)
 * refuses external data that resolves outside the graph's folder, so a symbolic link will not do.
 * Where a hard link is impossible (another filesystem, a file owned by someone else) the file is
 * cloned: copy-on-write where the filesystem supports it, else copied once. Returns which.
 * A `src` that is itself a symbolic link (every file of a Hugging Face hub cache snapshot is one,
 * relative, into `blobs/`) is followed first: link(2) would link the symbolic link, which then
 * points nowhere from `dst`'s folder.
 */
export function linkOrCopy(src: string, dst: string): 'link' | 'copy' {
  try {
    fs.linkSync(fs.realpathSync(src), dst);
    return 'link';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EACCES' && code !== 'EMLINK' && code !== 'ENOTSUP') throw e;
    fs.copyFileSync(src, dst, fs.constants.COPYFILE_FICLONE);
    return 'copy';
  }
}
