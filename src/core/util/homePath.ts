import * as os from 'os';
import * as path from 'path';
import { BadInputError } from '../errors';

/**
 * The home folder: $HOME, else the user's entry in the passwd database; null when there is
 * neither, as under `docker run -u 12345` or OpenShift's random user ids (os.homedir() throws
 * there, and every command failed with "uv_os_homedir returned ENOENT").
 */
export function homeFolder(): string | null {
  try {
    return os.homedir() || null;
  } catch {
    return null;
  }
}

/** Why homeFolder() is null, for messages. */
export function noHomeReason(): string {
  return `HOME is unset and user id ${process.getuid?.() ?? '?'} has no home folder in the user database`;
}

/**
 * A path with its leading `~` or `~/` read as the home folder. The shell expands `~` only at the
 * start of a word, so `--out=~/m` and `--task s=~/data` reached us as written, and made a folder
 * named `~` in the working directory (which a later `rm -rf ~` would take for the home folder);
 * VS Code settings are never expanded by a shell at all.
 */
export function expandHome(p: string): string {
  if (!(p === '~' || p.startsWith('~/') || (path.sep === '\\' && p.startsWith('~\\')))) return p;
  const home = homeFolder();
  if (home === null) throw new BadInputError(`${p}: ~ stands for the home folder, and there is none (${noHomeReason()}); give the path in full.`);
  return path.join(home, p.slice(1));
}

/**
 * The per-user cache folder as the XDG base-directory spec defines it: $XDG_CACHE_HOME when it is
 * an absolute path (the spec says to ignore a relative one, which would put the cache wherever the
 * command happened to run), else ~/.cache; null when there is no home folder either.
 */
export function userCacheRoot(): string | null {
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) return xdg;
  const home = homeFolder();
  return home === null ? null : path.join(home, '.cache');
}
