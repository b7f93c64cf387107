// A home's snapshot in parts (REMOTE.md, "Snapshot parts"): a hub whose shared entities do
// not fit one sealed message (64 KiB) sends its snapshot as up to MAX_SNAPSHOT_PARTS parts,
// part 0 on `state`, part i on `state/i`, each with the snapshot's id and part count. The
// page shows a snapshot only once every part of one id came: never a mix of two snapshots.
// Memory is bounded: at most MAX_PENDING_SNAPSHOTS are assembled at once (the oldest is
// dropped), each of at most MAX_SNAPSHOT_PARTS parts of at most 64 KiB.

export const MAX_SNAPSHOT_PARTS = 16;
export const MAX_PENDING_SNAPSHOTS = 2;
const SNAPSHOT_ID = /^[0-9a-f]{16}$/;

export class SnapshotError extends Error {}

function count(value, what) {
  if (!Number.isInteger(value)) {
    throw new SnapshotError(`the snapshot's ${what} is not an integer`);
  }
  return value;
}

export class SnapshotAssembler {
  constructor() {
    this.pending = new Map(); // id -> { parts, got: Map(part -> message) }, oldest first
  }

  /**
   * Add a part opened from the topic of part `partOnTopic`. Returns the whole snapshot (the
   * parts' entities in order, the rest from part 0) once complete, else null. Throws a
   * SnapshotError for a part that cannot belong to a snapshot (refused, nothing kept).
   */
  add(partOnTopic, message) {
    if (!("parts" in message) && !("part" in message) && !("snapshot" in message)) {
      // A hub from before parts: one whole snapshot on `state`.
      if (partOnTopic !== 0) {
        throw new SnapshotError("a snapshot without parts comes whole on the state topic");
      }
      return { ...message, entities: Array.isArray(message.entities) ? message.entities : [] };
    }
    const parts = count(message.parts, "part count");
    const part = count(message.part, "part number");
    if (parts < 1 || parts > MAX_SNAPSHOT_PARTS || part < 0 || part >= parts) {
      throw new SnapshotError(`part ${part} of ${parts}: at most ${MAX_SNAPSHOT_PARTS} parts`);
    }
    if (part !== partOnTopic) {
      throw new SnapshotError(`part ${part} came on the topic of part ${partOnTopic}`);
    }
    if (typeof message.snapshot !== "string" || !SNAPSHOT_ID.test(message.snapshot)) {
      throw new SnapshotError("the snapshot id is not 16 lowercase hex characters");
    }
    if (!Array.isArray(message.entities)) {
      throw new SnapshotError("the snapshot part lists no entities");
    }
    const entry = this.pending.get(message.snapshot) ?? { parts, got: new Map() };
    if (entry.parts !== parts) {
      throw new SnapshotError(`snapshot ${message.snapshot} has ${entry.parts} parts, not ${parts}`);
    }
    entry.got.set(part, message);
    this.pending.delete(message.snapshot); // re-inserted last: the most recently heard
    this.pending.set(message.snapshot, entry);
    while (this.pending.size > MAX_PENDING_SNAPSHOTS) {
      this.pending.delete(this.pending.keys().next().value);
    }
    if (entry.got.size < parts) {
      return null;
    }
    this.pending.delete(message.snapshot);
    const entities = [];
    for (let index = 0; index < parts; index += 1) {
      entities.push(...entry.got.get(index).entities);
    }
    return { ...entry.got.get(0), entities };
  }
}
