import * as os from 'os';
import * as path from 'path';

/**
 * A path with its leading `~` or `~/` read as the home folder. The shell expands `~` only at the
 * start of a word, so `--out=~/m` and `--task s=~/data` reached us as written, and made a folder
 * named `~` in the working directory (which a later `rm -rf ~` would take for the home folder);
 * VS Code settings are never expanded by a shell at all.
 */
export function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') || (path.sep === '\\' && p.startsWith('~\\')) ? path.join(os.homedir(), p.slice(1)) : p;
}
