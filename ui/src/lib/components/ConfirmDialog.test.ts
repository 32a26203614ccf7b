import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import ConfirmDialog from './ConfirmDialog.svelte';

describe('ConfirmDialog', () => {
  it('focuses Cancel, confirms on click, cancels on Escape', async () => {
    const onconfirm = vi.fn();
    const oncancel = vi.fn();
    render(ConfirmDialog, { title: 'Remove web?', message: 'It is stopped and removed.', onconfirm, oncancel });
    expect(document.activeElement?.textContent).toBe('Cancel');
    await fireEvent.keyDown(screen.getByRole('alertdialog'), { key: 'Escape' });
    expect(oncancel).toHaveBeenCalled();
    await fireEvent.click(screen.getByRole('button', { name: 'Remove' }));
    expect(onconfirm).toHaveBeenCalled();
  });
});
