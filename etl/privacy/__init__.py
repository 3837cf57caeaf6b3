"""Who may see which child: the access policy, the child and due lists it guards, the access log."""
