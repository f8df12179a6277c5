/**
 * The only module that knows the component library. @vscode/webview-ui-toolkit was archived
 * upstream on 2025-01-01; replacing it (e.g. with @vscode-elements/elements) means rewriting
 * this file only. Everything else gets plain HTMLElements from these factories.
 */
import {
  provideVSCodeDesignSystem,
  vsCodeButton,
  vsCodeCheckbox,
  vsCodeDivider,
  vsCodeDropdown,
  vsCodeLink,
  vsCodeOption,
  vsCodeProgressRing,
} from '@vscode/webview-ui-toolkit';

let registered = false;

/** Defines the custom elements; call once before building any UI. */
export function registerComponents(): void {
  if (registered) return;
  provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeCheckbox(), vsCodeDivider(), vsCodeDropdown(), vsCodeLink(), vsCodeOption(), vsCodeProgressRing());
  registered = true;
}

/** The parts of a form control the rest of the UI uses, whatever element implements it. */
interface Control extends HTMLElement {
  disabled: boolean;
}

export interface ButtonOptions {
  appearance?: 'primary' | 'secondary';
  title?: string;
  onClick: () => void;
}

export function button(label: string, opts: ButtonOptions): HTMLElement {
  const b = document.createElement('vscode-button');
  b.textContent = label;
  b.setAttribute('appearance', opts.appearance ?? 'secondary');
  if (opts.title) b.title = opts.title;
  b.addEventListener('click', () => {
    if (!(b as unknown as Control).disabled) opts.onClick();
  });
  return b;
}

export function setDisabled(el: HTMLElement, disabled: boolean): void {
  (el as Control).disabled = disabled;
}

export interface CheckboxHandle {
  element: HTMLElement;
  checked: boolean;
}

export function checkbox(label: string, checked: boolean, onChange: (checked: boolean) => void, title?: string): CheckboxHandle {
  const c = document.createElement('vscode-checkbox') as HTMLElement & { checked: boolean };
  c.textContent = label;
  c.checked = checked;
  if (title) c.title = title;
  c.addEventListener('change', () => onChange(c.checked));
  return {
    element: c,
    get checked() {
      return c.checked;
    },
    set checked(v: boolean) {
      c.checked = v;
    },
  };
}

export function dropdown(options: { value: string; label: string }[], value: string, onChange: (value: string) => void, title?: string): HTMLElement {
  const d = document.createElement('vscode-dropdown') as HTMLElement & { value: string };
  for (const o of options) {
    const opt = document.createElement('vscode-option');
    opt.setAttribute('value', o.value);
    opt.textContent = o.label;
    if (o.value === value) opt.setAttribute('selected', '');
    d.appendChild(opt);
  }
  if (title) d.title = title;
  d.addEventListener('change', () => onChange(d.value));
  return d;
}

export function link(label: string, onClick: () => void, title?: string): HTMLElement {
  const a = document.createElement('vscode-link');
  a.textContent = label;
  a.setAttribute('href', '#');
  if (title) a.title = title;
  a.addEventListener('click', (ev) => {
    ev.preventDefault();
    onClick();
  });
  return a;
}

export function progressRing(): HTMLElement {
  return document.createElement('vscode-progress-ring');
}

export function divider(): HTMLElement {
  return document.createElement('vscode-divider');
}
