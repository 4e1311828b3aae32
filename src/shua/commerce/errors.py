"""The shop's errors, each with a stable code."""

from __future__ import annotations

from shua.core.errors import Conflict, Forbidden, InvalidRequest, NotFound


class ShopNotFound(NotFound):
    code = "commerce.shop_not_found"
    title = "No such shop"


class ShopExists(Conflict):
    code = "commerce.shop_exists"
    title = "You already have a shop"


class ShopNotOpen(Forbidden):
    code = "commerce.shop_not_open"
    title = "This shop is not open (a brand shop waits for an operator's verification)"


class ProductNotFound(NotFound):
    code = "commerce.product_not_found"
    title = "No such product"


class SkuNotFound(NotFound):
    code = "commerce.sku_not_found"
    title = "No such variant of this product"


class OutOfStock(Conflict):
    code = "commerce.out_of_stock"
    title = "Not enough left in stock"


class PriceChanged(Conflict):
    code = "commerce.price_changed"
    title = "The price changed since you looked: check the new total"


class BuyingFromYourself(InvalidRequest):
    code = "commerce.own_product"
    title = "You cannot buy from your own shop"


class OneShopPerOrder(InvalidRequest):
    code = "commerce.one_shop_per_order"
    title = "An order holds products of one shop"


class OrderNotFound(NotFound):
    code = "commerce.order_not_found"
    title = "No such order"


class OrderNotCancelable(Conflict):
    code = "commerce.order_not_cancelable"
    title = "Only an unpaid order can be canceled"


class AddressNotFound(NotFound):
    code = "commerce.address_not_found"
    title = "No such address in your address book"


class OrderNotShippable(Conflict):
    code = "commerce.order_not_shippable"
    title = "Only a paid order can be shipped"


class OrderNotConfirmable(Conflict):
    code = "commerce.order_not_confirmable"
    title = "Only a shipped or delivered order can be confirmed"


class UnknownCarrier(InvalidRequest):
    code = "commerce.unknown_carrier"
    title = "Not a carrier we know"


class InvalidPhoto(InvalidRequest):
    code = "commerce.invalid_photo"
    title = "The file is not a supported photo (JPEG, PNG, WebP or GIF)"


class PhotoNotFound(NotFound):
    code = "commerce.photo_not_found"
    title = "No such photo among yours"


class TooManyPhotos(InvalidRequest):
    code = "commerce.too_many_photos"
    title = "Too many photos"
