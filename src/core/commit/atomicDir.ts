/**
 * Writing a folder so that nothing half written is ever left at its final path: fill a sibling
 * temporary folder, then rename it into place.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BadInputError, badValue } from '../errors';

/** The output folder exists and replacing it was not asked for. */
export function outExists(dest: string): BadInputError {
  return badValue('out', dest, 'the folder already exists; choose another path or allow replacing it ({{force}}).');
}

export async function writeFolderAtomically(dest: string, overwrite: boolean, fill: (tmpDir: string) => Promise<void>): Promise<string> {
  const abs = path.resolve(dest);
  if (fs.existsSync(abs)) {
    if (!overwrite) throw outExists(dest);
    if (!fs.statSync(abs).isDirectory()) throw badValue('out', dest, 'a file of that name exists; choose another path.');
  }
  const parent = path.dirname(abs);
  fs.mkdirSync(parent, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(parent, `.${path.basename(abs)}.probescale-tmp-`));
  try {
    await fill(tmp);
    if (fs.existsSync(abs)) {
      const old = `${tmp}-old`;
      fs.renameSync(abs, old);
      fs.renameSync(tmp, abs);
      fs.rmSync(old, { recursive: true, force: true });
    } else {
      fs.renameSync(tmp, abs);
    }
    return abs;
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Replaces a file by writing a sibling temporary file and renaming it over the target: `data`, or
 * whatever `data(tmp)` writes to the temporary path. The temporary file never outlives a failure.
 */
export function writeFileAtomic(file: string, data: string | Buffer | ((tmp: string) => void)): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    if (typeof data === 'function') data(tmp);
    else fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
