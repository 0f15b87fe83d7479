//! JsonLogic → IR compiler (being written).
