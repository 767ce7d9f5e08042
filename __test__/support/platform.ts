// The platform a spec runs on, where it changes what a test can expect.

/**
 * Whether this is Windows emulated by Wine (which sets WINECONFIGDIR and
 * WINELOADER in every Windows process's environment). Only for the few
 * behaviours where Wine differs from Windows itself, each shown by a plain
 * Winsock program without node-mio (scripts/cross/winsock-probe.c).
 */
export const underWine = process.platform === 'win32' && process.env.WINECONFIGDIR !== undefined && process.env.WINELOADER !== undefined
