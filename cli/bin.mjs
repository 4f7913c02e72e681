#!/usr/bin/env node
// `npx blkif ...` from the repository: load TypeScript through tsx's ESM loader, then run the CLI.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
