/** @vscode/webview-ui-toolkit as the webview page harness bundles it: nothing to register; the elements stay plain (test/fakeDom.ts). */
const component = () => ({});
export const provideVSCodeDesignSystem = () => ({ register: () => {} });
export const vsCodeButton = component;
export const vsCodeCheckbox = component;
export const vsCodeDivider = component;
export const vsCodeDropdown = component;
export const vsCodeLink = component;
export const vsCodeOption = component;
export const vsCodeProgressRing = component;
