import * as fs from 'node:fs';
import { ResourceError } from '../errors';

/**
 * Whether the process's working folder was deleted (a shell, or VS Code, can sit in a folder that
 * another terminal removed). Node then cannot start a worker thread, which reads the working
 * folder as it starts ("ENOENT: no such file or directory, uv_cwd"), nor resolve a relative
 * path. Asked through `stat('.')`, whose link count is 0 once the folder is gone: in a worker
 * thread process.cwd() answers from a copy made when the thread started.
 */
export function workingFolderGone(): boolean {
  try {
    process.cwd();
    return fs.statSync('.').nlink === 0;
  } catch {
    return true;
  }
}

/** What failed because workingFolderGone(), worded: `what` names it ("" where nothing started yet). */
export function lostWorkingFolderError(what: string): ResourceError {
  return new ResourceError(
    `${what ? `${what}: ` : ''}the current folder no longer exists (it was deleted, and Node starts its worker threads in it); run from a folder that exists (cd there in a terminal; restart VS Code if it was started there).`,
  );
}
