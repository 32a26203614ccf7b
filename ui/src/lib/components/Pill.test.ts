import { render, screen } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import Pill from './Pill.svelte';

describe('Pill', () => {
  it('shows its text with a tone and an explanation', () => {
    render(Pill, { text: 'emulated', tone: 'warn', title: 'Runs an image for another architecture' });
    const el = screen.getByText('emulated');
    expect(el.className).toContain('warn');
    expect(el.title).toBe('Runs an image for another architecture');
  });
});
