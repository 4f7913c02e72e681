// What tells a binary file from text before it is parsed: C0 controls JSON and a xenstored log
// never hold raw (all but tab, newline and carriage return), and U+FFFD, which invalid UTF-8
// decodes to. A dependency-free module: the CLI checks its inputs with it before loading a model.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
export const BINARY = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\uFFFD]/;
