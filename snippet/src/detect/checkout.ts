// InitiateCheckout: a click on a checkout button or link (Shopify's name="checkout" buttons
// of the cart page and cart drawer, links to /checkout), or a WooCommerce checkout page
// (form.checkout, or the checkout block). WooCommerce's "Proceed to checkout" is a plain
// link to that page, so the page is its one signal and that click is not counted twice.
import { doc } from '../globals.js';
import type { Bag } from '../types.js';
import { detected } from './gate.js';

const checkoutStarted = () => detected('InitiateCheckout', {});

export const checkoutClick = (e: Bag): unknown => e.target.closest('[name=checkout],a[href$="/checkout"]') && checkoutStarted();

export const checkoutPage = (): unknown => doc.querySelector('form.checkout,.wc-block-checkout') && checkoutStarted();
