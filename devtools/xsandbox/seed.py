"""A small believable world for the demo and the tests."""

from __future__ import annotations

from devtools.xsandbox.world import User, World

OWNER_ID = "1700000000000000001"
DEMO_CREDENTIALS = {
    "consumer_key": "demo-consumer-key",
    "consumer_secret": "demo-consumer-secret",
    "access_token": f"{OWNER_ID}-demoAccessToken",
    "access_token_secret": "demo-access-token-secret",
}


def demo_world(**kwargs: object) -> tuple[World, dict[str, str]]:
    """The demo account (@flockpilot_demo), a few peers, their followers and some posts."""
    world = World(**kwargs)  # type: ignore[arg-type]
    owner = world.add_user(User(OWNER_ID, "flockpilot_demo", "Demo Bakery",
                                description="Small-batch sourdough. Tips on baking at home.",
                                profile_image_url="https://pbs.twimg.com/profile_images/1/demo_normal.jpg"))
    world.grant(owner.id, DEMO_CREDENTIALS["consumer_key"], DEMO_CREDENTIALS["access_token"])
    peers = [
        world.add_user(User(f"17000000000000001{n:02d}", handle, name, description=bio))
        for n, (handle, name, bio) in enumerate([
            ("breadnerd", "Bread Nerd", "Baking science, crumb shots, flour reviews."),
            ("smallbizdaily", "Small Biz Daily", "Tips for small business owners."),
            ("ovenspring", "Oven Spring", "Home baking community."),
        ])
    ]
    for i in range(60):
        fan = world.add_user(User(f"17000000000000002{i:02d}", f"baker{i:02d}", f"Baker {i:02d}",
                                  description="I bake bread on weekends" if i % 3 else "",
                                  follow_back=0.6 if i % 2 else 0.1,
                                  profile_image_url=f"https://pbs.twimg.com/profile_images/{i}/p_normal.jpg"))
        world.follow(fan.id, peers[i % 3].id)
        if i % 10 == 0:
            world.follow(fan.id, owner.id)
        if i % 5 != 4:  # most fans posted lately; every fifth has gone quiet
            world.add_post(fan.id, f"Weekend bake #{i}", lang="en" if i % 7 else "fr")
        # a believable follow graph: each fan follows a few other fans
        for j in range(1, 13):
            world.follow(fan.id, f"17000000000000002{(i + j * 7) % 60:02d}")
    for peer in peers:
        world.follow(owner.id, peer.id)
        world.add_post(peer.id, f"New post from @{peer.username}: what is your favourite loaf?")
    return world, dict(DEMO_CREDENTIALS)
