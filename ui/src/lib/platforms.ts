// Image platforms against the machine's: an image with no build for the machine's architecture runs
// emulated (slowly, where the machine has an emulator at all), which the user must confirm first. The
// same rule as berth-engine's `portability` (attestation entries `unknown/unknown` do not count).
import type { HubTagImage } from './backend/backend';

/** `linux/arm/v7`. */
export function platformOf(i: HubTagImage): string {
  return [i.os, i.architecture, i.variant].filter(Boolean).join('/');
}

const arch = (p: string) => p.split('/')[1] ?? '';

/** 'native', 'emulated', or 'unknown' when no Linux platform is listed. */
export function portability(platforms: string[], machine: string): 'native' | 'emulated' | 'unknown' {
  const linux = platforms.filter((p) => p.startsWith('linux/'));
  if (linux.length === 0 || !machine) return 'unknown';
  return linux.some((p) => arch(p) === arch(machine)) ? 'native' : 'emulated';
}
