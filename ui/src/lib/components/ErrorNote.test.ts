import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import ErrorNote from './ErrorNote.svelte';

describe('ErrorNote', () => {
  it('shows nothing without a message', () => {
    render(ErrorNote, { message: null });
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('shows the message and can be dismissed', async () => {
    const ondismiss = vi.fn();
    render(ErrorNote, { message: 'port 8080 is taken; choose another', ondismiss });
    expect(screen.getByRole('alert').textContent).toContain('port 8080 is taken');
    await fireEvent.click(screen.getByLabelText('Dismiss'));
    expect(ondismiss).toHaveBeenCalled();
  });
});
