package engine

// DropGrace is how long after its phase ended an open-model arrival that
// still waits for a connection may be sent; later it is dropped. The
// dry-run (runtime/dryrun) predicts drops with it.
const DropGrace = dropGrace
