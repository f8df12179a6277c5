// Fails when package.json and src/extension disagree about commands:
// - a command declared in contributes.commands that no registerCommand('…') in src/extension registers;
// - a command registered in src/extension that package.json does not declare;
// - a menu entry or keybinding naming an undeclared command;
// - a setting read through SettingKeys (src/extension/settingKeys.ts) that package.json does not
//   declare in contributes.configuration, or one declared there that nothing reads.
// Registrations must use the literal id (registerCommand('probescale.x', …)) so this grep sees them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const contributes = pkg.contributes ?? {};
const declared = new Set((contributes.commands ?? []).map((c) => c.command));

function* tsFiles(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* tsFiles(p);
    else if (e.name.endsWith('.ts')) yield p;
  }
}

const registered = new Map();
const pattern = /registerCommand\(\s*(['"`])([^'"`]+)\1/g;
for (const file of tsFiles(path.join(root, 'src', 'extension'))) {
  const text = fs.readFileSync(file, 'utf8');
  for (const m of text.matchAll(pattern)) registered.set(m[2], path.relative(root, file));
}

const problems = [];
for (const id of declared) {
  if (!registered.has(id)) problems.push(`${id}: declared in package.json but never registered in src/extension`);
}
for (const [id, file] of registered) {
  if (!declared.has(id)) problems.push(`${id}: registered in ${file} but not declared in package.json contributes.commands`);
}
for (const [menu, entries] of Object.entries(contributes.menus ?? {})) {
  for (const e of entries) {
    if (e.command && !declared.has(e.command)) problems.push(`${e.command}: used in menus["${menu}"] but not declared`);
  }
}
for (const k of contributes.keybindings ?? []) {
  if (!declared.has(k.command)) problems.push(`${k.command}: used in keybindings but not declared`);
}
for (const c of contributes.commands ?? []) {
  if (!c.command.startsWith('probescale.')) problems.push(`${c.command}: command ids start with "probescale."`);
  if (c.category !== 'ProbeScale') problems.push(`${c.command}: category must be "ProbeScale"`);
  if (!/^\$\([\w-]+\)$/.test(c.icon ?? '')) problems.push(`${c.command}: needs a codicon, e.g. "icon": "$(beaker)"`);
}

const keysText = fs.readFileSync(path.join(root, 'src', 'extension', 'settingKeys.ts'), 'utf8');
const keysBlock = keysText.match(/export const SettingKeys = \{([\s\S]*?)\} as const;/);
const readKeys = new Set(keysBlock ? [...keysBlock[1].matchAll(/:\s*'([^']+)'/g)].map((m) => `probescale.${m[1]}`) : []);
if (!keysBlock) problems.push('src/extension/settingKeys.ts: no SettingKeys block found');
const configs = [contributes.configuration ?? []].flat();
const declaredSettings = new Set(configs.flatMap((c) => Object.keys(c.properties ?? {})));
for (const k of readKeys) if (!declaredSettings.has(k)) problems.push(`${k}: read through SettingKeys but not declared in contributes.configuration`);
for (const k of declaredSettings) if (!readKeys.has(k)) problems.push(`${k}: declared in contributes.configuration but not in SettingKeys`);

if (problems.length) {
  for (const p of problems) console.error(`check-commands: ${p}`);
  console.error(`check-commands: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log(`check-commands: ${declared.size} commands declared and registered; ${readKeys.size} settings declared and read`);
