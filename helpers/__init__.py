"""What the lab notebooks import: data sets, plots, the network, the gradient check, and each
lab's visible checks (``lab1``, ``lab2``, built on the backprop specification they share)."""
