// No vscode import: the mapping is tested in plain Node (test/unit/code-language.test.ts).

/** Fence names (and the aliases people write) whose VS Code language id differs. */
const LANGUAGE_IDS: Record<string, string> = {
  js: 'javascript',
  jsx: 'javascriptreact',
  mjs: 'javascript',
  cjs: 'javascript',
  ts: 'typescript',
  tsx: 'typescriptreact',
  py: 'python',
  python3: 'python',
  sh: 'shellscript',
  bash: 'shellscript',
  zsh: 'shellscript',
  shell: 'shellscript',
  console: 'shellscript',
  yml: 'yaml',
  md: 'markdown',
  htm: 'html',
  xhtml: 'html',
  svg: 'xml',
  'c++': 'cpp',
  cc: 'cpp',
  hpp: 'cpp',
  h: 'c',
  cs: 'csharp',
  'c#': 'csharp',
  rs: 'rust',
  golang: 'go',
  rb: 'ruby',
  ps1: 'powershell',
  pwsh: 'powershell',
  kt: 'kotlin',
  docker: 'dockerfile',
  make: 'makefile',
  toml: 'ini',
  patch: 'diff',
  text: 'plaintext',
  txt: 'plaintext',
};

/**
 * The VS Code language of a fence's name: a known alias, else the name itself when VS Code
 * has such a language, else plain text.
 */
export function languageIdOf(fence: string | undefined, known: readonly string[]): string {
  if (!fence) return 'plaintext';
  const name = fence.toLowerCase();
  const id = LANGUAGE_IDS[name] ?? name;
  return known.includes(id) ? id : 'plaintext';
}
