package dev.strata.cache;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@link BlockLocator} over a simple layout: each stream's data lies in objects
 * {@code stream * 100 + k} for k = 0.., each with {@code blocksPerObject} blocks of
 * {@code blockBytes}.
 */
final class Layout implements BlockLocator {
    final int objects;
    final int blocksPerObject;
    final int blockBytes;

    Layout(int objects, int blocksPerObject, int blockBytes) {
        this.objects = objects;
        this.blocksPerObject = blocksPerObject;
        this.blockBytes = blockBytes;
    }

    BlockRef block(long stream, int n) {
        return new BlockRef(stream * 100 + n / blocksPerObject, n % blocksPerObject, blockBytes);
    }

    int totalBlocks() {
        return objects * blocksPerObject;
    }

    @Override
    public List<BlockRef> blocksAfter(long streamId, BlockRef block, long maxBytes) {
        long owner = block.objectId() / 100; // the data's stream, whatever id the reader uses
        int n = (int) (block.objectId() - owner * 100) * blocksPerObject + block.blockIndex();
        List<BlockRef> out = new ArrayList<>();
        long bytes = 0;
        for (int i = n + 1; i < totalBlocks() && (out.isEmpty() || bytes + blockBytes <= maxBytes); i++) {
            out.add(block(owner, i));
            bytes += blockBytes;
        }
        return out;
    }
}
