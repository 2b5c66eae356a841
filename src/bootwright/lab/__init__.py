"""The netns + QEMU lab that boots real firmware against bootwright."""
