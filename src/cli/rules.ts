import type { Command } from 'commander';
import type { DataCommandContext } from './import.js';

/** `crosswalk rules …`. */
export function registerRulesCommand(_program: Command, _data: DataCommandContext): void {}
