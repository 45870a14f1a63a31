import './styles/main.css';
import { createApp } from './app.js';
import { connectHost } from './host.js';

createApp(document.getElementById('app') ?? document.body, connectHost());
