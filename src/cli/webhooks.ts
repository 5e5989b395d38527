import type { Command } from 'commander';
import type { DataCommandContext } from './import.js';

/** `crosswalk webhooks …`. */
export function registerWebhooksCommand(_program: Command, _data: DataCommandContext): void {}
