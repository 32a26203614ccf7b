import { render, screen } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import LayerProgressList from './LayerProgressList.svelte';

describe('LayerProgressList', () => {
  it('shows a bar for layers of known size and the status of every layer', () => {
    render(LayerProgressList, {
      layers: [
        { id: 'aaa111', status: 'Pushing', current: 512, total: 1024 },
        { id: 'bbb222', status: 'Waiting', current: null, total: null },
      ],
    });
    const bar = screen.getByLabelText('Layer aaa111') as HTMLProgressElement;
    expect(bar.value).toBe(50);
    expect(screen.getByText('Waiting')).toBeTruthy();
    expect(screen.queryByLabelText('Layer bbb222')).toBeNull();
  });
});
