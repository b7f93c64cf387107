"""Remote access (issue #19), the store's side: which hub lets which accounts in, broker
tokens for hubs and people, the "My home" page, and closing connections whose rights end."""
