// This browser's pairings, one per hub, kept in IndexedDB: the browser id, its ECDH private
// key (a non-extractable CryptoKey: IndexedDB stores it, script can use it, nobody can read
// it out), its public point and the hub's. The household key is not stored: the broker keeps
// this browser's keys message retained and it is unwrapped again on each visit.

const DATABASE = "ethos-remote";
const VERSION = 1;
const PAIRINGS = "pairings";

function promised(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function openDatabase() {
  const request = indexedDB.open(DATABASE, VERSION);
  request.onupgradeneeded = () => {
    request.result.createObjectStore(PAIRINGS, { keyPath: "hub" });
  };
  return promised(request);
}

/** Pairings by hub id; falls back to memory (lost on reload) where IndexedDB is unavailable. */
export class PairingStore {
  constructor() {
    this.memory = new Map();
    this.database = null;
    this.persistent = false;
  }

  async open() {
    try {
      this.database = await openDatabase();
      this.persistent = true;
    } catch {
      this.database = null; // private browsing or storage blocked: pair for this visit only
    }
    return this;
  }

  async #run(mode, action) {
    const transaction = this.database.transaction(PAIRINGS, mode);
    const done = new Promise((resolve, reject) => {
      transaction.oncomplete = resolve;
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
    const result = await promised(action(transaction.objectStore(PAIRINGS)));
    await done;
    return result;
  }

  async get(hub) {
    if (this.database === null) {
      return this.memory.get(hub);
    }
    return this.#run("readonly", (store) => store.get(hub));
  }

  async put(pairing) {
    if (this.database === null) {
      this.memory.set(pairing.hub, pairing);
      return;
    }
    await this.#run("readwrite", (store) => store.put(pairing));
  }

  async remove(hub) {
    if (this.database === null) {
      this.memory.delete(hub);
      return;
    }
    await this.#run("readwrite", (store) => store.delete(hub));
  }
}
