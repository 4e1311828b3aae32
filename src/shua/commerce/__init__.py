"""The shop: shops, products and SKUs, inventory, orders paid through Shua Pay."""
