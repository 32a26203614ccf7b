import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import ListEditor from './ListEditor.svelte';

const entries = () => screen.queryAllByRole('listitem').map((li) => li.querySelector('code')?.textContent);

describe('ListEditor', () => {
  it('adds on Enter, skips duplicates and removes', async () => {
    render(ListEditor, { items: ['10.0.2.2:5000'], label: 'Insecure registries' });
    const input = screen.getByLabelText('Add to Insecure registries');
    await fireEvent.input(input, { target: { value: ' registry.local:5000 ' } });
    await fireEvent.keyDown(input, { key: 'Enter' });
    expect(entries()).toEqual(['10.0.2.2:5000', 'registry.local:5000']);
    await fireEvent.input(input, { target: { value: '10.0.2.2:5000' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Add' }));
    expect(entries()).toHaveLength(2);
    await fireEvent.click(screen.getByRole('button', { name: 'Remove 10.0.2.2:5000' }));
    expect(entries()).toEqual(['registry.local:5000']);
  });

  it('shows the error under the list and marks the input', () => {
    render(ListEditor, { items: [], label: 'Registry mirrors', error: 'registry mirror "x" must be an http:// or https:// URL' });
    expect(screen.getByText('None.')).toBeTruthy();
    const input = screen.getByLabelText('Add to Registry mirrors');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById(input.getAttribute('aria-describedby')!)?.textContent).toMatch(/must be an http/);
  });
});
