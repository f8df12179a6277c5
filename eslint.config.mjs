// ESLint flat config. `npm run lint` checks the TypeScript sources; the import rules keep the
// layers apart: core and worker never import `vscode` (the CLI, the worker and the tests run
// them without VS Code), and the webview imports neither `vscode` nor Node modules.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const noVscode = { name: 'vscode', message: 'src/core and src/worker run without VS Code (CLI, worker thread, unit tests); take plain data, an AbortSignal and onProgress instead.' };

const webviewNoVscode = { name: 'vscode', message: 'The webview talks to the host through src/shared/protocol.ts only.' };
const webviewPatterns = [
  { regex: '^node:', message: 'The webview runs in a browser.' },
  { regex: '^(\\.\\./)+src/(?!shared/\\w+$)', message: 'The webview may import src/shared/ only (host-free, import-free code).' },
];

export default defineConfig(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', '.e2e/**', '.vscode-test/**', 'models/**', 'data/**', 'test/fixtures/**', 'test/e2e/screenshots/**'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    files: ['src/core/**/*.ts', 'src/worker/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [noVscode] }] },
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!\\./)', message: 'src/shared is compiled for the webview and the host alike; import nothing outside it.' }] }],
    },
  },
  {
    // The webview message validator reads the protocol's types, nothing else.
    files: ['src/shared/validate.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!\\./protocol$).*', message: 'src/shared files are compiled for the webview and the host alike; validate.ts may import ./protocol only.' }] }],
    },
  },
  {
    files: ['webview/**/*.ts'],
    languageOptions: { globals: globals.browser },
    rules: { 'no-restricted-imports': ['error', { paths: [webviewNoVscode], patterns: webviewPatterns }] },
  },
  {
    files: ['webview/**/*.ts'],
    ignores: ['webview/toolkit.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [webviewNoVscode],
          patterns: [...webviewPatterns, { group: ['@vscode/webview-ui-toolkit', '@vscode/webview-ui-toolkit/*'], message: 'Use the component library through webview/toolkit.ts only, so it can be swapped.' }],
        },
      ],
    },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['bin/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
