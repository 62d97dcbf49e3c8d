// page-ledger.js — to be written.
import { heading } from './ui.js';

export async function render(ctx) {
  ctx.main.append(...heading('ledger'));
}
