import * as path from 'node:path';

/** Tests run from the repository root (npm test does so); every fixture path is resolved from it. */
export const repoRoot = process.cwd();
export const fixturesDir = path.join(repoRoot, 'test', 'fixtures');
export const tinyModels: string[] = ['tiny-bert', 'tiny-roberta', 'tiny-distilbert', 'tiny-t5-encoder'];
export const robertaMini = path.join(repoRoot, 'models', 'probescale-roberta-mini');
export const tasksDir = path.join(repoRoot, 'data', 'tasks');
export function fixture(...parts: string[]): string {
  return path.join(fixturesDir, ...parts);
}
