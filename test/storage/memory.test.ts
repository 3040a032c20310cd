import { InMemoryStorage } from '../../src/storage/memory.js';
import { storageContract } from './storage-contract.js';

storageContract('memory', async () => new InMemoryStorage());
