import * as fs from 'node:fs';
import { NAME_MAX } from './names';

/**
 * Why `file` is not a regular file that can be read, as a phrase ("is a folder", "is a symbolic link that
 * loops", …), or undefined when it is one (following links). Reading a named pipe or a device would block or
 * never end, and `fs.existsSync` calls a looping or dangling link "missing", which misleads whoever made it.
 */
export function notAFile(file: string): string | undefined {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return 'is a symbolic link that leads back to itself through a loop of links';
    if (code === 'EACCES' || code === 'EPERM') return `is in a folder this user may not enter (permission denied); ${GRANT}`;
    const tooLong = `a name too long for the file system (at most ${NAME_MAX} bytes in a name, 4096 in a path)`;
    let link: fs.Stats | undefined;
    try {
      link = fs.lstatSync(file, { throwIfNoEntry: false });
    } catch {
      return code === 'ENAMETOOLONG' ? `has ${tooLong}` : `cannot be opened (${code})`;
    }
    if (link?.isSymbolicLink()) return `is a symbolic link to ${fs.readlinkSync(file)}, which ${code === 'ENAMETOOLONG' ? `has ${tooLong}` : 'does not exist'}`;
    return link ? `cannot be opened (${code})` : 'does not exist';
  }
  if (st.isFile()) return denied(file, fs.constants.R_OK) ? `cannot be read by this user (permission denied); ${GRANT}` : lfsPointer(file, st.size);
  if (st.isDirectory()) return 'is a folder, not a file';
  if (st.isFIFO()) return 'is a named pipe, not a file (reading it would wait for a writer)';
  if (st.isSocket()) return 'is a socket, not a file';
  return 'is a device, not a file';
}

/** The advice of every permission-denied phrase here, which ends it: a caller's own advice (orAdvice) would not help. */
const GRANT = 'give yourself permission (chmod u+r on files, u+rx on each folder on the way) or run as a user who has it';

/** The advice of the Git LFS phrase, which ends it. */
const LFS_ADVICE = 'the folder was cloned without Git LFS: run `git lfs install && git lfs pull` in the repository, or download it with huggingface-cli download';

/** `${bad}${advice}`, or `bad` alone where it carries its own advice (a permission problem, a Git LFS pointer). */
export function orAdvice(bad: string, advice: string): string {
  return bad.endsWith(GRANT) || bad.endsWith(LFS_ADVICE) ? bad : `${bad}${advice}`;
}

/**
 * Why `file` (a regular file of `size` bytes) is a Git LFS pointer rather than the file it names,
 * as a phrase, or undefined. A repository cloned without Git LFS holds a 130-byte text in place of
 * each large file ("version https://git-lfs.github.com/spec/v1 … size N"), which each reader
 * refused in its own words ("unsupported wire type 6", "header length 2336927755350992246 exceeds
 * the file"). Only the first bytes of a small file are read.
 */
export function lfsPointer(file: string, size = fs.statSync(file).size): string | undefined {
  if (size === 0 || size > 1024) return undefined;
  let head: string;
  try {
    head = readRange(file, 0, size).toString('utf8');
  } catch {
    return undefined;
  }
  if (!head.startsWith('version https://git-lfs.github.com/spec/')) return undefined;
  const named = /^size (\d+)$/m.exec(head);
  return `is a Git LFS pointer (${size} bytes standing for ${named ? `a file of ${Number(named[1]).toLocaleString('en-US')} bytes` : 'a larger file'}), not the file itself; ${LFS_ADVICE}`;
}

/** Whether this user lacks `mode` (fs.constants.R_OK, X_OK) on `p` by its permissions; false for any other failure, which the read itself names. */
function denied(p: string, mode: number): boolean {
  try {
    fs.accessSync(p, mode);
    return false;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'EACCES' || code === 'EPERM';
  }
}

/**
 * Why this user cannot list and enter the folder `dir`, as a phrase, or undefined when it can. Checked
 * before looking for files in it: a lookup in a folder that cannot be entered fails for every name
 * alike, so "no config.json" or "several train files" would be said where permission is the problem.
 */
export function unreadableFolder(dir: string): string | undefined {
  return denied(dir, fs.constants.R_OK | fs.constants.X_OK) ? `cannot be read by this user (permission denied); ${GRANT}` : undefined;
}

/**
 * True when something is at `file`, even a link that cannot be followed (where `fs.existsSync` says
 * false), or when the path cannot be looked at (a name too long, a folder on the way without
 * permission): notAFile then says why, where Node's raw error was shown before.
 */
export function somethingAt(file: string): boolean {
  try {
    return fs.lstatSync(file, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return true;
  }
}

/** `length` bytes of `file` from byte `start` (fewer when the file ends first: the rest stays zero). */
export function readRange(file: string, start: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, buf, 0, length, start);
  } finally {
    fs.closeSync(fd);
  }
  return buf;
}
