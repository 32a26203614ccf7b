import { render, screen } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import EmptyState from './EmptyState.svelte';

describe('EmptyState', () => {
  it('shows its title', () => {
    render(EmptyState, { title: 'No volumes yet' });
    expect(screen.getByText('No volumes yet')).toBeTruthy();
  });
});
