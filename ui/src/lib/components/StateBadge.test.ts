import { render } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import StateBadge from './StateBadge.svelte';

describe('StateBadge', () => {
  it('tones by state', () => {
    const { container } = render(StateBadge, { state: 'error' });
    expect(container.querySelector('.badge.bad')?.textContent).toBe('error');
  });
});
