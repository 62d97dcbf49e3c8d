// page-terms.js — to be written.
import { api } from './api.js';
import { heading } from './ui.js';

export async function render(ctx) {
  await api.get('/v1/me/terms');
  ctx.main.append(...heading('My terms'));
}
