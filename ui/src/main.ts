// Picks the backend (Tauri inside the app, the in-memory demo machine in a plain browser) and mounts.
import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { MockBackend } from './lib/backend/mock';
import { isTauri, tauriBackend } from './lib/backend/tauri';
import { AppState } from './lib/stores/app.svelte';
// Applies the saved theme (Settings) before the first paint.
import './lib/stores/theme.svelte';

const app = new AppState(isTauri() ? tauriBackend : MockBackend.demo());
void app.init();
mount(App, { target: document.getElementById('app')!, props: { app } });
// Two frames after mounting, the first frame is on screen: tell the app (scripts/bench/app measures it).
requestAnimationFrame(() => requestAnimationFrame(() => void app.backend.firstPaint().catch(() => {})));
